//! Moving a model between devices: `model.to(Device::Gpu)` puts every weight on the GPU, and
//! from then on `fit`, `evaluate` and `predict` copy each batch there, so that the forward pass,
//! the backward pass and the optimizer's update all run where the weights are. `fit` on arrays
//! that fit in the GPU's memory copies them there once instead ([`arrays_on_device`]),
//! and gathers each batch on the GPU.
//!
//! ```
//! use astrograd_layers::{Dense, Input, Sequential};
//! use astrograd_autograd::Device;
//! let mut model = Sequential::new(vec![Box::new(Input::new(&[4])), Box::new(Dense::new(2))])?;
//! model.to(Device::Cpu)?; // `Device::gpu()?` with the `wgpu` feature
//! assert_eq!(model.device(), Device::Cpu);
//! # Ok::<(), astrograd_layers::LayerError>(())
//! ```
use astrograd_autograd::{Device, Tensor};

use crate::{LayerError, Model, Result};

impl Model {
    /// Moves every weight (trainable or not: BatchNormalization's moving statistics too) to
    /// `device`, and, for a compiled model, its optimizer's state (slots are otherwise made
    /// where the weights are, on the optimizer's first step). So a model trained on the GPU
    /// can move to the CPU (after an out-of-memory error, say) and train on from where it was.
    ///
    /// # Errors
    /// [`LayerError::Invalid`] for a model that is not built yet (no weights to move: give it an
    /// `Input` or call `build`); the device's error if the GPU cannot be opened.
    pub fn to(&mut self, device: Device) -> Result<()> {
        let weights = self.weights();
        if !self.is_built() {
            return Err(LayerError::invalid(
                "Model.to",
                "a built model (give it an Input or call `build(input_shape)` first)",
                format!("model '{}' without an input shape", self.name()),
            ));
        }
        for weight in &weights {
            let value = weight.var.value().to(device)?;
            weight.var.set_value(value)?;
        }
        // A compiled model's optimizer state (Adam's moments, …) goes with its weights, so that
        // training goes on where the model now is, from where it was.
        if let Some(compiled) = self.compiled.as_mut() {
            let optimizer = compiled.optimizer.as_mut();
            for weight in &weights {
                for slot in optimizer.slot_names() {
                    if let Some(value) = optimizer.slot(&weight.var, slot) {
                        optimizer.set_slot(&weight.var, slot, value.to(device)?)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Where the weights are (the CPU for a model without weights).
    pub fn device(&self) -> Device {
        self.weights()
            .first()
            .map_or(Device::Cpu, |w| w.var.value().device())
    }
}

/// `x` on `device`: the one copy of a batch to the model's device.
pub(crate) fn on_device(x: Tensor, device: Device) -> Result<Tensor> {
    if x.device() == device {
        return Ok(x);
    }
    Ok(x.to(device)?)
}

/// The training arrays of `fit` (and its validation arrays), copied once to the model's device
/// when it is a GPU with room for them (see [`Device::has_room_for`]), so that each batch is
/// gathered there (`Tensor::select` on the GPU) instead of copied from the host at every step;
/// otherwise as they are. The class labels are checked on the host first, all at once, as they
/// would be
/// batch by batch: a label outside `0..K` is still an error, not a NaN loss.
///
/// Arrays that carry more than the samples (class weights, which read the labels on the host
/// at every step) stay on the host: `keep` is false for them.
///
/// # Errors
/// A label out of range; the GPU's errors (an out-of-memory error keeps the arrays on the
/// host instead).
pub(crate) fn arrays_on_device(
    model: &Model,
    loss: &crate::training::Loss,
    (x, y): (Tensor, Tensor),
    keep: bool,
) -> Result<(Tensor, Tensor)> {
    let device = model.device();
    let output_shape: Option<Vec<usize>> = model
        .output_shape()
        .map(|shape| shape.iter().map(|d| d.unwrap_or(1)).collect());
    let numbers = x.numel() + y.numel();
    let (Some(output_shape), true, Device::Cpu, Device::Cpu) =
        (output_shape, keep, x.device(), y.device())
    else {
        return Ok((x, y));
    };
    if device == Device::Cpu || !device.has_room_for(numbers) {
        return Ok((x, y));
    }
    loss.check_labels_on_host(&output_shape, &y)?;
    match (x.to(device), y.to(device)) {
        (Ok(x), Ok(y)) => Ok((x, y)),
        (Err(e), _) | (_, Err(e)) if e.is_out_of_memory() => Ok((x, y)),
        (Err(e), _) | (_, Err(e)) => Err(e.into()),
    }
}
