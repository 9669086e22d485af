//! Where a tensor's numbers live.
//!
//! Without the `wgpu` feature the CPU is the only device. With it, `Device::Gpu` is the GPU that
//! wgpu opens (Vulkan, Metal or DX12). Operations dispatch on the storage of their inputs, so the
//! same model code runs on either; moving data is explicit: [`crate::Tensor::to`].

/// The device that holds a tensor's numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// Host memory, computed with the kernels of `astrograd_kernels::cpu`.
    #[default]
    Cpu,
    /// The GPU, computed with the WGSL kernels of `astrograd_kernels::wgpu` (feature `wgpu`).
    #[cfg(feature = "wgpu")]
    Gpu,
}

impl Device {
    /// The GPU, opened on first use. The first call says on standard error which adapter it is
    /// (as TensorFlow logs its devices), and warns when it is a software renderer, on which
    /// astrograd's CPU kernels are faster. `ASTROGRAD_GPU=N` picks adapter N where there are
    /// several (an unknown number is an error that lists them).
    ///
    /// # Errors
    /// [`crate::TensorError::Kernel`] with `NoGpu` when there is no usable GPU adapter: the
    /// message says what wgpu reported and what to install.
    #[cfg(feature = "wgpu")]
    pub fn gpu() -> crate::Result<Device> {
        static ANNOUNCED: std::sync::Once = std::sync::Once::new();
        let ctx = astrograd_kernels::wgpu::context()?;
        ANNOUNCED.call_once(|| {
            eprintln!("astrograd: GPU {}", ctx.description());
            if ctx.is_software() {
                eprintln!(
                    "astrograd: warning: this GPU is a software renderer that runs on the CPU; \
                     `--device cpu` (astrograd's own CPU kernels) will be much faster"
                );
            }
        });
        Ok(Device::Gpu)
    }

    /// Sends the work recorded for this device to it without waiting (a no-op on the CPU,
    /// whose kernels run when called). A GPU op is recorded, not run; `fit` calls this at the
    /// end of each training step, so that the GPU computes one step while the host records
    /// the next, in one submission per step.
    ///
    /// # Errors
    /// [`crate::TensorError::Kernel`] if the GPU is unusable.
    pub fn submit(self) -> crate::Result<()> {
        match self {
            Device::Cpu => Ok(()),
            #[cfg(feature = "wgpu")]
            Device::Gpu => Ok(astrograd_kernels::wgpu::submit()?),
        }
    }

    /// Whether `numbers` f32 numbers fit on this device with room to spare (always on the
    /// CPU; on a GPU: within one binding, and within half of what is left under an
    /// `ASTROGRAD_GPU_MEMORY` limit). `fit` asks before it keeps a training set on the GPU.
    #[cfg_attr(not(feature = "wgpu"), allow(unused_variables))]
    pub fn has_room_for(self, numbers: usize) -> bool {
        match self {
            // The arrays are in host memory already.
            Device::Cpu => true,
            #[cfg(feature = "wgpu")]
            Device::Gpu => astrograd_kernels::wgpu::has_room_for(numbers),
        }
    }

    /// `"cpu"` or `"gpu"` (as an example's `--device` flag spells it) to a device.
    ///
    /// # Errors
    /// [`crate::TensorError::Invalid`] for another name, or `"gpu"` in a build without the
    /// `wgpu` feature; [`crate::TensorError::Kernel`] if the GPU cannot be opened.
    pub fn from_name(name: &str) -> crate::Result<Device> {
        match name {
            "cpu" => Ok(Device::Cpu),
            #[cfg(feature = "wgpu")]
            "gpu" => Device::gpu(),
            #[cfg(not(feature = "wgpu"))]
            "gpu" => Err(crate::TensorError::Invalid {
                op: "device",
                msg: "this build has no GPU support: rebuild with `--features wgpu`".into(),
            }),
            other => Err(crate::TensorError::Invalid {
                op: "device",
                msg: format!("expected \"cpu\" or \"gpu\", found {other:?}"),
            }),
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            #[cfg(feature = "wgpu")]
            Device::Gpu => write!(f, "gpu"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_a_wrong_one_says_what_is_expected() {
        assert_eq!(Device::from_name("cpu").unwrap(), Device::Cpu);
        assert_eq!(Device::Cpu.to_string(), "cpu");
        let err = Device::from_name("tpu").unwrap_err().to_string();
        assert_eq!(err, "device: expected \"cpu\" or \"gpu\", found \"tpu\"");
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn gpu_without_the_feature_says_how_to_build_it() {
        let err = Device::from_name("gpu").unwrap_err().to_string();
        assert!(err.contains("--features wgpu"), "{err}");
    }
}
