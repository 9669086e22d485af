//! What every optimizer shares: the learning rate (constant or scheduled, with Keras's legacy
//! `decay`), the step counter, gradient clipping, and the checks of hyperparameters.
//!
//! # The step and the learning rate (TF 2.10)
//!
//! `iterations` counts the updates already made. An update uses
//! `lr = schedule(iterations)` (or the constant), divided by `1 + decay·iterations` when the
//! legacy `decay` is set, and `t = iterations + 1` for Adam's bias corrections. So the first
//! update sees step 0 and t = 1.
//!
//! # Gradient clipping (TF 2.10 `optimizer_v2`, applied in this order)
//!
//! ```text
//! clipvalue        g = min(max(g, −c), c)                      elementwise
//! clipnorm         g = g·c / max(‖g‖, c)                        each parameter's own L2 norm
//! global_clipnorm  g = g·c·min(1/N, 1/c),  N = √(Σ_params ‖g‖²) all parameters together
//! ```
//!
//! `clipnorm` and `global_clipnorm` cannot both be set (as in Keras). AdamW (Keras's newer
//! optimizer class) applies only one of them, in the order clipnorm, global_clipnorm, clipvalue.
use std::collections::hash_map::Entry;
use std::collections::HashMap;

use astrograd_autograd::{AutogradError, Result, Tensor, Var};

use crate::flat::{Flat, SlotTensors};
use crate::schedules::LearningRateSchedule;

/// A learning rate: a number, or a schedule of the step.
pub enum LearningRate {
    /// The same rate for every update.
    Constant(f32),
    /// `lr(step)`, with `step` the number of updates already made.
    Schedule(Box<dyn LearningRateSchedule>),
}

impl LearningRate {
    /// The rate for the update made when `step` updates have already been made.
    pub fn at(&self, step: u64) -> f32 {
        match self {
            LearningRate::Constant(lr) => *lr,
            LearningRate::Schedule(schedule) => schedule.lr(step),
        }
    }
}

impl std::fmt::Debug for LearningRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LearningRate::Constant(lr) => write!(f, "{lr}"),
            LearningRate::Schedule(s) => write!(f, "schedule (lr at step 0: {})", s.lr(0)),
        }
    }
}

impl From<f32> for LearningRate {
    fn from(lr: f32) -> Self {
        LearningRate::Constant(lr)
    }
}

/// Any schedule (a struct of [`crate::schedules`] or a closure `|step| lr`) is a learning rate.
impl<S: LearningRateSchedule + 'static> From<S> for LearningRate {
    fn from(schedule: S) -> Self {
        LearningRate::Schedule(Box::new(schedule))
    }
}

impl From<Box<dyn LearningRateSchedule>> for LearningRate {
    fn from(schedule: Box<dyn LearningRateSchedule>) -> Self {
        LearningRate::Schedule(schedule)
    }
}

/// Keras's three gradient-clipping options; `None` means off.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Clipping {
    /// Clip each gradient element to `[−clipvalue, clipvalue]`.
    pub clipvalue: Option<f32>,
    /// Rescale each parameter's gradient so that its L2 norm is at most `clipnorm`.
    pub clipnorm: Option<f32>,
    /// Rescale all gradients together so that their joint L2 norm is at most `global_clipnorm`.
    pub global_clipnorm: Option<f32>,
}

/// Which order of clipping rules applies (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClipStyle {
    /// TF 2.10's default optimizers: clipvalue, then clipnorm, then global_clipnorm.
    Legacy,
    /// Keras's newer optimizer class (AdamW in 2.10): only the first of clipnorm,
    /// global_clipnorm, clipvalue that is set.
    Experimental,
}

impl Clipping {
    /// Checks that each threshold is positive and that clipnorm and global_clipnorm are not both set.
    pub(crate) fn validate(&self, op: &'static str) -> Result<()> {
        for (name, value) in [
            ("clipvalue", self.clipvalue),
            ("clipnorm", self.clipnorm),
            ("global_clipnorm", self.global_clipnorm),
        ] {
            if let Some(v) = value {
                if !(v.is_finite() && v > 0.0) {
                    return Err(AutogradError::Invalid {
                        op,
                        expected: format!("{name} > 0 and finite"),
                        found: format!("{name} = {v}"),
                    });
                }
            }
        }
        if let (Some(a), Some(b)) = (self.clipnorm, self.global_clipnorm) {
            return Err(AutogradError::Invalid {
                op,
                expected: "at most one of clipnorm and global_clipnorm".into(),
                found: format!("clipnorm = {a} and global_clipnorm = {b}"),
            });
        }
        Ok(())
    }

    /// Clips the gradients (one per parameter, in order) as Keras does.
    pub(crate) fn apply(&self, grads: &mut [Vec<f32>], style: ClipStyle) {
        match style {
            ClipStyle::Legacy => {
                if let Some(c) = self.clipvalue {
                    grads.iter_mut().for_each(|g| clip_by_value(g, c));
                }
                if let Some(c) = self.clipnorm {
                    grads.iter_mut().for_each(|g| clip_by_norm(g, c));
                }
                if let Some(c) = self.global_clipnorm {
                    clip_by_global_norm(grads, c);
                }
            }
            ClipStyle::Experimental => {
                if let Some(c) = self.clipnorm {
                    grads.iter_mut().for_each(|g| clip_by_norm(g, c));
                } else if let Some(c) = self.global_clipnorm {
                    clip_by_global_norm(grads, c);
                } else if let Some(c) = self.clipvalue {
                    grads.iter_mut().for_each(|g| clip_by_value(g, c));
                }
            }
        }
    }

    pub(crate) fn is_off(&self) -> bool {
        *self == Clipping::default()
    }

    /// [`Clipping::apply`] with tensor ops, so that gradients on a GPU are clipped there (the
    /// norms are one-element tensors on the GPU; nothing is read back).
    pub(crate) fn apply_on_device(&self, grads: &mut [Tensor], style: ClipStyle) -> Result<()> {
        match style {
            ClipStyle::Legacy => {
                if let Some(c) = self.clipvalue {
                    grads.iter_mut().for_each(|g| *g = g.clamp(-c, c));
                }
                if let Some(c) = self.clipnorm {
                    for g in grads.iter_mut() {
                        *g = clip_tensor_by_norm(g, c)?;
                    }
                }
                if let Some(c) = self.global_clipnorm {
                    clip_tensors_by_global_norm(grads, c)?;
                }
            }
            ClipStyle::Experimental => {
                if let Some(c) = self.clipnorm {
                    for g in grads.iter_mut() {
                        *g = clip_tensor_by_norm(g, c)?;
                    }
                } else if let Some(c) = self.global_clipnorm {
                    clip_tensors_by_global_norm(grads, c)?;
                } else if let Some(c) = self.clipvalue {
                    grads.iter_mut().for_each(|g| *g = g.clamp(-c, c));
                }
            }
        }
        Ok(())
    }
}

/// [`clip_by_norm`] on a tensor's device: `g·c / max(‖g‖, c)`.
fn clip_tensor_by_norm(g: &Tensor, c: f32) -> Result<Tensor> {
    let norm = g.mul(g)?.sum_all().sqrt();
    // max(‖g‖, c), keeping a NaN norm NaN as f32::max would not.
    let denom = norm.maximum(&Tensor::full_on(&[], c, g.device())?)?;
    Ok(g.mul_scalar(c).div(&denom)?)
}

/// [`clip_by_global_norm`] on the gradients' device: every gradient times `c·min(1/N, 1/c)`
/// plus `N − N` (NaN when N is not finite, as TF).
fn clip_tensors_by_global_norm(grads: &mut [Tensor], c: f32) -> Result<()> {
    let Some(first) = grads.first() else {
        return Ok(());
    };
    let mut squares = Tensor::full_on(&[], 0.0, first.device())?;
    for g in grads.iter() {
        squares = squares.add(&g.mul(g)?.sum_all())?;
    }
    let norm = squares.sqrt();
    let inverse = norm.unary(astrograd_tensor::UnaryOp::Recip);
    let limit = Tensor::full_on(&[], 1.0 / c, first.device())?;
    let scale = inverse
        .minimum(&limit)?
        .mul_scalar(c)
        .add(&norm.sub(&norm)?)?;
    for g in grads.iter_mut() {
        *g = g.mul(&scale)?;
    }
    Ok(())
}

/// `tf.clip_by_value(g, −c, c)`.
pub fn clip_by_value(g: &mut [f32], c: f32) {
    g.iter_mut().for_each(|x| *x = x.max(-c).min(c));
}

/// The squared L2 norm, summed in f64.
fn squared_norm(g: &[f32]) -> f64 {
    g.iter().map(|&x| x as f64 * x as f64).sum()
}

/// `tf.clip_by_norm(g, c)`: `g·c / max(‖g‖, c)` (so unchanged, up to rounding, when ‖g‖ ≤ c).
pub fn clip_by_norm(g: &mut [f32], c: f32) {
    let norm = squared_norm(g).sqrt() as f32;
    let denom = norm.max(c);
    g.iter_mut().for_each(|x| *x = *x * c / denom);
}

/// `tf.clip_by_global_norm(grads, c)`: every gradient times `c·min(1/N, 1/c)`, with N the norm of
/// all gradients together. A NaN or infinite N makes every gradient NaN, as in TF.
pub fn clip_by_global_norm(grads: &mut [Vec<f32>], c: f32) {
    let norm = grads.iter().map(|g| squared_norm(g)).sum::<f64>().sqrt() as f32;
    // TF adds `norm − norm` to the scale: 0 for a finite norm, NaN for an infinite or NaN one.
    let nan_if_not_finite = if norm.is_finite() { 0.0 } else { f32::NAN };
    let scale = c * (1.0 / norm).min(1.0 / c) + nan_if_not_finite;
    grads
        .iter_mut()
        .for_each(|g| g.iter_mut().for_each(|x| *x *= scale));
}

/// What every optimizer has, whatever its update rule: its Keras class name, the learning rate
/// (a constant or a schedule), the legacy `decay`, the clipping options and the step counter.
/// Each optimizer holds one and hands it out through [`Optimizer::base`](crate::Optimizer::base),
/// which gives them all the same learning-rate, step and clipping methods (as `LayerBase` does
/// for the layers).
#[derive(Debug)]
pub struct OptimizerBase {
    /// Keras's class name: `"SGD"`, `"Adam"`, …
    pub name: &'static str,
    /// The learning rate: a constant, or a schedule of the step.
    pub learning_rate: LearningRate,
    /// Keras's legacy `decay`: `lr / (1 + decay·iterations)` (0 = off).
    pub decay: f32,
    /// `clipnorm`, `global_clipnorm`, `clipvalue` (each off when `None`).
    pub clipping: Clipping,
    /// The number of updates made so far.
    pub iterations: u64,
}

impl OptimizerBase {
    /// The base of optimizer `name`: no decay, no clipping, no step made yet.
    pub fn new(name: &'static str, learning_rate: LearningRate) -> OptimizerBase {
        OptimizerBase {
            name,
            learning_rate,
            decay: 0.0,
            clipping: Clipping::default(),
            iterations: 0,
        }
    }

    /// The rate of the next update: `lr(iterations) / (1 + decay·iterations)`, in float32 as TF.
    pub fn current_lr(&self) -> f32 {
        let step = self.iterations as f32;
        let lr = self.learning_rate.at(self.iterations);
        if self.decay > 0.0 {
            lr / (1.0 + self.decay * step)
        } else {
            lr
        }
    }

    /// Checks the learning rate (a constant must be ≥ 0, the next scheduled one too), the decay and
    /// the clipping options.
    pub fn validate(&self) -> Result<()> {
        let lr = self.learning_rate.at(self.iterations);
        check_non_negative(self.name, "learning_rate", lr)?;
        check_non_negative(self.name, "decay", self.decay)?;
        self.clipping.validate(self.name)
    }

    /// The parameters that have a gradient, with their (clipped) gradients.
    ///
    /// # Errors
    /// A gradient whose shape differs from its parameter's.
    pub(crate) fn gradients<'a>(
        &self,
        params: &'a [Var],
        style: ClipStyle,
    ) -> Result<Vec<(&'a Var, Tensor)>> {
        let mut pairs = Vec::with_capacity(params.len());
        for p in params {
            let Some(g) = p.grad() else { continue };
            if g.shape() != p.shape().as_slice() {
                return Err(AutogradError::Invalid {
                    op: self.name,
                    expected: format!("a gradient of the parameter's shape {:?}", p.shape()),
                    found: format!("a gradient of shape {:?}", g.shape()),
                });
            }
            pairs.push((p, g));
        }
        if self.clipping.is_off() {
            return Ok(pairs);
        }
        if pairs
            .iter()
            .any(|(_, g)| g.device() != astrograd_tensor::Device::Cpu)
        {
            let (params, mut grads): (Vec<&Var>, Vec<Tensor>) = pairs.into_iter().unzip();
            self.clipping.apply_on_device(&mut grads, style)?;
            return Ok(params.into_iter().zip(grads).collect());
        }
        let mut grads = pairs
            .iter()
            .map(|(_, g)| g.to_vec())
            .collect::<std::result::Result<Vec<Vec<f32>>, _>>()?;
        self.clipping.apply(&mut grads, style);
        pairs
            .into_iter()
            .zip(grads)
            .map(|((p, g), clipped)| Ok((p, Tensor::from_vec(clipped, g.shape())?)))
            .collect()
    }
}

/// One optimizer step over `params`, shared by every optimizer: validate, gather (and clip) the
/// gradients, create the slots of a parameter seen for the first time (`new_slots(g)`, on the
/// gradient's device), run `update(w, g, slots)` on each parameter in place (the fused kernels
/// of `astrograd_tensor::nn::optimizer`, on the parameter's device), and count the step.
///
/// Slots are keyed by the parameter's [`Var::id`], so the order and the subset of parameters
/// passed may change between calls (a layer unfrozen mid-training gets fresh slots).
///
/// When every parameter and gradient is on the GPU, `update` runs once, on flat buffers that
/// hold all the parameters, gradients and slots (`flat`, see [`crate::flat`]).
pub(crate) fn apply_update<S: SlotTensors>(
    base: &mut OptimizerBase,
    slots: &mut HashMap<u64, S>,
    flat: &mut Option<Flat<S>>,
    params: &[Var],
    style: ClipStyle,
    new_slots: impl Fn(&Tensor) -> Result<S>,
    mut update: impl FnMut(&mut Tensor, &Tensor, &mut S) -> Result<()>,
) -> Result<()> {
    base.validate()?;
    let pairs = base.gradients(params, style)?;
    #[cfg(feature = "wgpu")]
    if crate::flat::applies(&pairs) {
        crate::flat::update(flat, slots, &pairs, new_slots, update)?;
        base.iterations += 1;
        return Ok(());
    }
    #[cfg(not(feature = "wgpu"))]
    let _ = flat;
    for (param, grad) in pairs {
        let slot = match slots.entry(param.id()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(new_slots(&grad)?),
        };
        let mut outcome = Ok(());
        param.update_value(|w| outcome = update(w, &grad, slot));
        outcome?;
    }
    base.iterations += 1;
    Ok(())
}

/// A slot for the gradient `g`: its shape, every element `value`, on its device.
pub(crate) fn slot_like(g: &Tensor, value: f32) -> Result<Tensor> {
    // Made where `g` is: on a GPU, filled there, not copied from the host.
    Ok(Tensor::full_on(g.shape(), value, g.device())?)
}

/// `value ≥ 0` and finite, or an error naming the optimizer and the hyperparameter.
pub(crate) fn check_non_negative(op: &'static str, name: &str, value: f32) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(AutogradError::Invalid {
            op,
            expected: format!("{name} ≥ 0 and finite"),
            found: format!("{name} = {value}"),
        })
    }
}

/// `value` in `[0, 1]` (a momentum), or an error.
pub(crate) fn check_momentum(op: &'static str, value: f32) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(AutogradError::Invalid {
            op,
            expected: "momentum in [0, 1]".into(),
            found: format!("momentum = {value}"),
        })
    }
}

/// `value` in `[0, 1)` (a decay rate such as rho or beta), or an error.
pub(crate) fn check_unit_interval(op: &'static str, name: &str, value: f32) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(AutogradError::Invalid {
            op,
            expected: format!("{name} in [0, 1)"),
            found: format!("{name} = {value}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_by_norm_rescales_only_long_gradients() {
        let mut long = vec![3.0, 4.0]; // norm 5
        clip_by_norm(&mut long, 1.0);
        assert!((long[0] - 0.6).abs() < 1e-7 && (long[1] - 0.8).abs() < 1e-7);
        let mut short = vec![0.3, 0.4];
        clip_by_norm(&mut short, 1.0);
        assert_eq!(short, vec![0.3, 0.4]);
        let mut zero = vec![0.0, 0.0];
        clip_by_norm(&mut zero, 1.0);
        assert_eq!(zero, vec![0.0, 0.0]);
    }

    #[test]
    fn global_clipnorm_uses_the_joint_norm() {
        let mut grads = vec![vec![3.0], vec![4.0]]; // joint norm 5
        clip_by_global_norm(&mut grads, 1.0);
        assert!((grads[0][0] - 0.6).abs() < 1e-7 && (grads[1][0] - 0.8).abs() < 1e-7);
        let mut inf = vec![vec![f32::INFINITY], vec![1.0]];
        clip_by_global_norm(&mut inf, 1.0);
        assert!(inf[1][0].is_nan());
    }

    /// Every clipping rule, with tensor ops on `device`, against the host version.
    fn clipping_with_tensor_ops_matches_the_host_on(device: astrograd_tensor::Device) {
        let host_grads = vec![vec![3.0, -4.0, 0.5], vec![0.1, 0.2], vec![7.0]];
        let cases = [
            Clipping {
                clipvalue: Some(1.0),
                ..Clipping::default()
            },
            Clipping {
                clipnorm: Some(1.0),
                ..Clipping::default()
            },
            Clipping {
                global_clipnorm: Some(2.0),
                ..Clipping::default()
            },
            Clipping {
                clipvalue: Some(3.5),
                clipnorm: Some(2.0),
                ..Clipping::default()
            },
        ];
        for clipping in cases {
            for style in [ClipStyle::Legacy, ClipStyle::Experimental] {
                let mut expected = host_grads.clone();
                clipping.apply(&mut expected, style);
                let mut tensors: Vec<Tensor> = host_grads
                    .iter()
                    .map(|g| {
                        Tensor::from_vec(g.clone(), &[g.len()])
                            .unwrap()
                            .to(device)
                            .unwrap()
                    })
                    .collect();
                clipping.apply_on_device(&mut tensors, style).unwrap();
                for (t, e) in tensors.iter().zip(&expected) {
                    assert_eq!(t.device(), device);
                    let got = t.to_vec().unwrap();
                    for (a, b) in got.iter().zip(e) {
                        assert!(
                            (a - b).abs() <= 1e-6,
                            "{clipping:?} {style:?}: {got:?} vs {e:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn clipping_with_tensor_ops_matches_the_host() {
        clipping_with_tensor_ops_matches_the_host_on(astrograd_tensor::Device::Cpu);
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn clipping_on_the_gpu_matches_the_host() {
        if let Some(gpu) = astrograd_tensor::gpu::gpu_or_skip() {
            clipping_with_tensor_ops_matches_the_host_on(gpu);
        }
    }

    #[test]
    fn clipnorm_and_global_clipnorm_together_are_an_error() {
        let both = Clipping {
            clipnorm: Some(1.0),
            global_clipnorm: Some(1.0),
            ..Clipping::default()
        };
        assert!(both.validate("SGD").is_err());
        let negative = Clipping {
            clipvalue: Some(-1.0),
            ..Clipping::default()
        };
        assert!(negative.validate("SGD").is_err());
    }
}
