//! Where a tensor's numbers live.
//!
//! Only the CPU exists for now; a GPU through wgpu comes with its own issue. Every operation
//! reaches its numbers through `Tensor::cpu_array`, the one place that dispatches on the
//! storage, so adding a device means adding one arm there and the kernels behind it.

/// The device that holds a tensor's numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// Host memory, computed with the kernels of `astrograd_kernels::cpu`.
    #[default]
    Cpu,
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
        }
    }
}
