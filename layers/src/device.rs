//! Moving a model between devices: `model.to(Device::Gpu)` puts every weight on the GPU, and
//! from then on `fit`, `evaluate` and `predict` copy each batch there, so that the forward pass,
//! the backward pass and the optimizer's update all run where the weights are.
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
    /// `device`. Do it before `compile`, as in PyTorch before building the optimizer: an
    /// optimizer's slots are made where the weights are on its first step.
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
        for weight in weights {
            let value = weight.var.value().to(device)?;
            weight.var.set_value(value)?;
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
