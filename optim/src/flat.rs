//! One update for every parameter on a GPU: the parameters, their gradients and each of the
//! optimizer's slots live in one flat buffer apiece, laid out alike, so that one dispatch of
//! the fused update kernel (`astrograd_tensor::nn::optimizer`) updates them all, where a
//! dispatch per parameter would launch one small kernel per weight and bias.
//!
//! What it bought, measured on an H200 (`docs/gpu.md`): the Session 2 CNN's six update
//! dispatches a step became one, 32 → 6.5 µs of GPU time a step; 90 → 51 µs for the
//! Galaxy10-sized CNN, whose Dense kernel is most of its parameters.
//!
//! # Layout
//!
//! ```text
//! flat buffer:  | W₀ ……… pad | W₁ … pad | W₂ ………… pad | …      one stretch per parameter,
//!               ^0           ^s₁        ^s₂                    starts a multiple of 64 numbers
//! ```
//!
//! Each parameter's value is a view of its stretch of the weights' buffer (`Tensor::gpu_view`),
//! and so is each of its slots in the slots' buffers: the model's layers read their weights
//! from there, and the slots are still read and written one parameter at a time (saving).
//! The update runs over the padding too; those numbers are never read by anyone.
//!
//! # The gradients
//!
//! After each update every parameter is told where its next gradient goes: its stretch of a
//! gradient buffer ([`Var::set_grad_destination`]). The Dense and Conv2D ops write their
//! weight and bias gradients there directly; a gradient that arrives elsewhere (another op,
//! clipping, an all-reduce, the first step) is copied into its stretch first. Two gradient
//! buffers take turns: the step's gradients stay readable in one (`Var::grad`) while the next
//! step is told to write into the other, whose gradients `fit` dropped at the start of this
//! step. If a tensor still holds any of its numbers (a gradient kept), it is left to its holder
//! and a new buffer takes its place, so a gradient someone kept is never overwritten. (A new
//! buffer every step would do too, but the pool would hand out the two in an order that
//! shifts, and each shift makes new bind groups.)
//!
//! # Values stay values
//!
//! A tensor handed out (a weight read by `Var::value`, a slot read for saving) shares its
//! stretch. Before updating in place, the update checks that nobody else holds one; if
//! someone does, the flat buffer is copied first and the parameters move to the copy, so the
//! tensor that was handed out keeps its numbers, as with any tensor (copy-on-write). A value
//! put in from outside (loaded weights, a slot set from a file) is copied into its stretch.
#[cfg(feature = "wgpu")]
use std::collections::HashMap;

use astrograd_autograd::Tensor;
#[cfg(feature = "wgpu")]
use astrograd_autograd::{AutogradError, Result, Var};
#[cfg(feature = "wgpu")]
use astrograd_tensor::gpu::{copy_into, uninit, VIEW_ALIGNMENT};
#[cfg(feature = "wgpu")]
use astrograd_tensor::Device;

/// The tensors of one parameter's slots, in a fixed order (Adam: `m`, `v`, then `vhat` with
/// amsgrad), so that a parameter's slots and the flat slots can be matched one to one.
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
pub(crate) trait SlotTensors {
    fn tensors_mut(&mut self) -> Vec<&mut Tensor>;
}

impl SlotTensors for Tensor {
    fn tensors_mut(&mut self) -> Vec<&mut Tensor> {
        vec![self]
    }
}

impl SlotTensors for Option<Tensor> {
    fn tensors_mut(&mut self) -> Vec<&mut Tensor> {
        self.iter_mut().collect()
    }
}

#[cfg(feature = "wgpu")]
/// Whether the flat update applies: every parameter and gradient on the GPU.
pub(crate) fn applies(pairs: &[(&Var, Tensor)]) -> bool {
    let on_gpu = |t: &Tensor| t.device() == Device::Gpu;
    !pairs.is_empty() && pairs.iter().all(|(p, g)| on_gpu(&p.value()) && on_gpu(g))
}

/// The flat buffers of one optimizer and where each parameter lies in them (never made
/// without the `wgpu` feature).
#[derive(Debug)]
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
pub(crate) struct Flat<S> {
    /// The parameters' ids and shapes, in order: another list needs another layout.
    ids: Vec<u64>,
    shapes: Vec<Vec<usize>>,
    /// Where each parameter's stretch starts (a multiple of [`VIEW_ALIGNMENT`]).
    starts: Vec<usize>,
    /// Every parameter's value, `(total,)`.
    weights: Tensor,
    /// Every slot, each `(total,)`.
    slots: S,
    /// Two gradient buffers, used in turn: the parameters write one step's gradients into
    /// one while the other may still hold the last step's (see the module doc).
    grads: [Option<Tensor>; 2],
    /// Which of `grads` the parameters were told to write into, if any.
    writing: Option<usize>,
}

#[cfg(feature = "wgpu")]
impl<S: SlotTensors> Flat<S> {
    /// The layout of `pairs`' parameters, with new flat buffers (the values and slots are
    /// copied in by [`update`]).
    fn new(pairs: &[(&Var, Tensor)], new_slots: impl Fn(&Tensor) -> Result<S>) -> Result<Self> {
        let mut starts = Vec::with_capacity(pairs.len());
        let mut total = 0;
        for (_, g) in pairs {
            starts.push(total);
            total += g.numel().max(1).next_multiple_of(VIEW_ALIGNMENT);
        }
        let weights = Tensor::full_on(&[total], 0.0, Device::Gpu)?;
        Ok(Flat {
            ids: pairs.iter().map(|(p, _)| p.id()).collect(),
            shapes: pairs.iter().map(|(_, g)| g.shape().to_vec()).collect(),
            starts,
            slots: new_slots(&weights)?,
            weights,
            grads: [None, None],
            writing: None,
        })
    }

    /// Whether this layout is that of `pairs`' parameters.
    fn fits(&self, pairs: &[(&Var, Tensor)]) -> bool {
        self.ids.len() == pairs.len()
            && pairs
                .iter()
                .zip(self.ids.iter().zip(&self.shapes))
                .all(|((p, g), (id, shape))| p.id() == *id && g.shape() == shape.as_slice())
    }
}

#[cfg(feature = "wgpu")]
/// One update of every parameter of `pairs` (parameter, gradient) in one call of `update` on
/// the flat buffers. `slots` holds each parameter's slots (views of the flat ones after this
/// call); `new_slots(t)` makes slots shaped as `t`, on its device.
pub(crate) fn update<S: SlotTensors>(
    flat: &mut Option<Flat<S>>,
    slots: &mut HashMap<u64, S>,
    pairs: &[(&Var, Tensor)],
    new_slots: impl Fn(&Tensor) -> Result<S>,
    update: impl FnOnce(&mut Tensor, &Tensor, &mut S) -> Result<()>,
) -> Result<()> {
    let flat = match flat {
        Some(f) if f.fits(pairs) => f,
        _ => flat.insert(Flat::new(pairs, &new_slots)?),
    };
    // The values, taken out of their variables while they are checked (a clone would count
    // as someone else holding them), then put back.
    let mut values: Vec<Tensor> = pairs
        .iter()
        .map(|(p, _)| {
            let mut value = Tensor::zeros(&[0]);
            p.update_value(|v| std::mem::swap(v, &mut value));
            value
        })
        .collect();
    let adopted = adopt(&mut flat.weights, values.iter_mut().collect(), &flat.starts);
    for ((p, _), mut value) in pairs.iter().zip(values) {
        p.update_value(|v| std::mem::swap(v, &mut value));
    }
    adopted?;
    // The slots: the k-th tensor of every parameter's slots in the k-th flat slot.
    for (p, g) in pairs {
        if let std::collections::hash_map::Entry::Vacant(entry) = slots.entry(p.id()) {
            entry.insert(new_slots(g)?);
        }
    }
    let position: HashMap<u64, usize> = flat
        .ids
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, i))
        .collect();
    let mut own: Vec<Option<std::vec::IntoIter<&mut Tensor>>> =
        (0..pairs.len()).map(|_| None).collect();
    for (id, s) in slots.iter_mut() {
        if let Some(&i) = position.get(id) {
            own[i] = Some(s.tensors_mut().into_iter());
        }
    }
    for whole in flat.slots.tensors_mut() {
        let mut parts = Vec::with_capacity(pairs.len());
        for ((p, _), tensors) in pairs.iter().zip(own.iter_mut()) {
            match tensors.as_mut().and_then(Iterator::next) {
                Some(t) => parts.push(t),
                None => return Err(slot_mismatch(p)),
            }
        }
        adopt(whole, parts, &flat.starts)?;
    }
    // The gradients: each in its stretch of the buffer they were told to write into.
    let writing = flat.writing.unwrap_or(0);
    let grads = free_buffer(&mut flat.grads[writing], flat.weights.shape(), false)?;
    for ((_, g), &start) in pairs.iter().zip(&flat.starts) {
        if !g.is_gpu_view_at(grads, start) {
            copy_into(g, &grads.gpu_view(start, g.shape())?)?;
        }
    }
    update(&mut flat.weights, grads, &mut flat.slots)?;
    // Where the next gradients go: the other buffer, which held the last step's gradients
    // (dropped by now, unless someone kept one: then a new buffer).
    let next_index = 1 - writing;
    let next = free_buffer(&mut flat.grads[next_index], flat.weights.shape(), true)?;
    for ((p, g), &start) in pairs.iter().zip(&flat.starts) {
        p.set_grad_destination(Some(next.gpu_view(start, g.shape())?));
    }
    flat.writing = Some(next_index);
    Ok(())
}

/// The gradient buffer in `slot`: made (`shape`, on the GPU) if there is none, and, when
/// `unshared`, replaced by a new one if any tensor still holds its numbers or a view of them.
#[cfg(feature = "wgpu")]
fn free_buffer<'a>(
    slot: &'a mut Option<Tensor>,
    shape: &[usize],
    unshared: bool,
) -> Result<&'a Tensor> {
    if slot
        .as_ref()
        .is_some_and(|t| unshared && t.is_gpu_memory_held_elsewhere())
    {
        *slot = None;
    }
    Ok(match slot.take() {
        Some(t) => slot.insert(t),
        None => slot.insert(uninit(shape)?),
    })
}

#[cfg(feature = "wgpu")]
fn slot_mismatch(param: &Var) -> AutogradError {
    AutogradError::Invalid {
        op: "optimizer",
        expected: "the same slots for every parameter".into(),
        found: format!("other slots for the parameter of shape {:?}", param.shape()),
    }
}

#[cfg(feature = "wgpu")]
/// Makes each of `parts` the view of `whole` at its start, held by nobody else: a part that
/// is not its view yet (a new value) is copied into its stretch. If a part that is its view is
/// also held elsewhere, `whole` is replaced by a new buffer first and every part copied into
/// it: the holder keeps the numbers it has.
fn adopt(whole: &mut Tensor, parts: Vec<&mut Tensor>, starts: &[usize]) -> Result<()> {
    let held_elsewhere = parts
        .iter()
        .zip(starts)
        .any(|(part, &start)| part.is_gpu_view_at(whole, start) && part.is_shared());
    if held_elsewhere {
        *whole = uninit(whole.shape())?;
    }
    for (part, &start) in parts.into_iter().zip(starts) {
        if !part.is_gpu_view_at(whole, start) {
            let view = whole.gpu_view(start, part.shape())?;
            copy_into(part, &view)?;
            *part = view;
        }
    }
    Ok(())
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use std::sync::Mutex;

    use astrograd_kernels::wgpu::{dispatches_by_kernel, stats};

    use super::*;
    use crate::{Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD};

    /// The tests that count dispatches and copies, one at a time (the counters are global).
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    fn numbers(shape: &[usize], seed: usize) -> Tensor {
        let n: usize = shape.iter().product();
        let values = (0..n)
            .map(|i| ((i * 7 + seed * 13) % 11) as f32 * 0.1 - 0.5)
            .collect();
        Tensor::from_vec(values, shape).unwrap()
    }

    /// Every optimizer: the GPU's one update over flat buffers gives the CPU's numbers (one
    /// update per parameter), for the weights and every slot, over four steps of three
    /// parameters (a matrix, a vector, a 4-D kernel).
    #[test]
    fn one_update_over_flat_buffers_matches_the_cpu() {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let Some(gpu) = astrograd_tensor::gpu::gpu_or_skip() else {
            return;
        };
        let makers: Vec<fn() -> Box<dyn Optimizer>> = vec![
            || Box::new(SGD::new(0.1)),
            || Box::new(SGD::new(0.1).momentum(0.9).nesterov(true)),
            || Box::new(RMSprop::new(0.01)),
            || Box::new(RMSprop::new(0.01).centered(true).momentum(0.5)),
            || Box::new(Adam::new(0.01)),
            || Box::new(Adam::new(0.01).amsgrad(true)),
            || Box::new(AdamW::new(0.01)),
            || Box::new(Adagrad::new(0.05)),
        ];
        let shapes: [&[usize]; 3] = [&[3, 5], &[5], &[2, 2, 1, 3]];
        for make in makers {
            let run = |device: Device| {
                let params: Vec<Var> = shapes
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Var::parameter(numbers(s, i).to(device).unwrap()))
                    .collect();
                let mut optimizer = make();
                for step in 0..4 {
                    for (i, p) in params.iter().enumerate() {
                        p.set_grad(Some(numbers(&p.shape(), 10 + i + step).to(device).unwrap()));
                    }
                    optimizer.apply_gradients(&params).unwrap();
                }
                let mut result: Vec<Vec<f32>> =
                    params.iter().map(|p| p.value().to_vec().unwrap()).collect();
                for slot in optimizer.slot_names() {
                    for p in &params {
                        result.push(optimizer.slot(p, slot).unwrap().to_vec().unwrap());
                    }
                }
                (optimizer.name().to_string(), result)
            };
            let ((name, on_cpu), (_, on_gpu)) = (run(Device::Cpu), run(gpu));
            assert_eq!(on_cpu.len(), on_gpu.len(), "{name}");
            for (cpu, gpu) in on_cpu.iter().zip(&on_gpu) {
                for (a, b) in cpu.iter().zip(gpu) {
                    assert!(
                        (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                        "{name}: {cpu:?} vs {gpu:?}"
                    );
                }
            }
        }
    }

    /// A Dense layer trained on the GPU next to the same layer on the CPU, step for step, while
    /// the values are read, kept, replaced and the parameter list changes: the numbers stay the
    /// CPU's, and a plain step is one update dispatch with the gradients written in place (no
    /// copy).
    #[test]
    fn the_flat_buffers_keep_values_as_values() {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let Some(gpu) = astrograd_tensor::gpu::gpu_or_skip() else {
            return;
        };
        struct Twin {
            x: Var,
            w: Var,
            b: Var,
            adam: Adam,
        }
        let twin = |device: Device| Twin {
            x: Var::constant(numbers(&[4, 3], 1).to(device).unwrap()),
            w: Var::parameter(numbers(&[3, 2], 2).to(device).unwrap()),
            b: Var::parameter(numbers(&[2], 3).to(device).unwrap()),
            adam: Adam::new(0.1),
        };
        let (mut cpu, mut on_gpu) = (twin(Device::Cpu), twin(gpu));
        let step = |t: &mut Twin, with_b: bool| {
            let mut params = vec![t.w.clone()];
            if with_b {
                params.push(t.b.clone());
            }
            params.iter().for_each(Var::zero_grad);
            let y = t.x.dense(&t.w, Some(&t.b), false).unwrap();
            y.mul(&y).unwrap().sum_all().unwrap().backward().unwrap();
            // The graph holds the weights' values: freed first, as `fit` does, or the update
            // would copy them (copy-on-write) rather than write them in place.
            drop(y);
            t.adam.apply_gradients(&params).unwrap();
        };
        let same = |cpu: &Twin, gpu: &Twin, at: &str| {
            for (a, b) in [(&cpu.w, &gpu.w), (&cpu.b, &gpu.b)] {
                let (a, b) = (a.value().to_vec().unwrap(), b.value().to_vec().unwrap());
                for (x, y) in a.iter().zip(&b) {
                    assert!(
                        (x - y).abs() <= 1e-5 * (1.0 + x.abs()),
                        "{at}: {a:?} vs {b:?}"
                    );
                }
            }
        };
        let both = |cpu: &mut Twin, gpu: &mut Twin, at: &str, with_b: bool| {
            step(cpu, with_b);
            step(gpu, with_b);
            same(cpu, gpu, at);
        };
        both(&mut cpu, &mut on_gpu, "first step", true);
        // A plain step: one update, the gradients already in their stretches.
        let (before, kernels_before) = (stats(), dispatches_by_kernel());
        both(&mut cpu, &mut on_gpu, "second step", true);
        let during = stats().since(&before);
        let updates = dispatches_by_kernel()["optimizer"] - kernels_before["optimizer"];
        assert_eq!((updates, during.copies), (1, 0), "{during:?}");
        // A weight and a slot read before a step keep their numbers after it.
        let kept_w = on_gpu.w.value();
        let kept_m = on_gpu.adam.slot(&on_gpu.w, "m").unwrap();
        let (w_numbers, m_numbers) = (kept_w.to_vec().unwrap(), kept_m.to_vec().unwrap());
        both(&mut cpu, &mut on_gpu, "a step while values are held", true);
        assert_eq!(kept_w.to_vec().unwrap(), w_numbers);
        assert_eq!(kept_m.to_vec().unwrap(), m_numbers);
        assert_ne!(on_gpu.w.value().to_vec().unwrap(), w_numbers);
        drop((kept_w, kept_m));
        // A gradient kept for two steps keeps its numbers (its buffer is not written again).
        let kept_g = on_gpu.w.grad().unwrap();
        let g_numbers = kept_g.to_vec().unwrap();
        both(
            &mut cpu,
            &mut on_gpu,
            "a step while a gradient is held",
            true,
        );
        both(&mut cpu, &mut on_gpu, "another", true);
        assert_eq!(kept_g.to_vec().unwrap(), g_numbers);
        assert_ne!(on_gpu.w.grad().unwrap().to_vec().unwrap(), g_numbers);
        drop(kept_g);
        // Values put in from outside (loaded weights, a slot read from a file) are used.
        for t in [&mut cpu, &mut on_gpu] {
            let device = t.w.value().device();
            t.w.set_value(numbers(&[3, 2], 5).to(device).unwrap())
                .unwrap();
            let v = numbers(&[2], 6).to(device).unwrap();
            t.adam.set_slot(&t.b, "v", v.mul(&v).unwrap()).unwrap();
        }
        both(&mut cpu, &mut on_gpu, "after set_value and set_slot", true);
        // Another list of parameters: a frozen bias, then both again.
        both(&mut cpu, &mut on_gpu, "the kernel only", false);
        both(&mut cpu, &mut on_gpu, "both again", true);
    }
}
