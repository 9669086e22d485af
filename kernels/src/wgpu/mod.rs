//! GPU kernels through wgpu (feature `wgpu`): the same arithmetic as [`crate::cpu`], written as
//! WGSL compute shaders (`shaders/*.wgsl`), on buffers that stay on the GPU.
//!
//! - [`context`]: the device and queue, opened once; [`dispatch`] records a kernel run.
//! - [`GpuBuffer`]: numbers on the GPU, recycled through a pool; the only host↔device copies
//!   are [`GpuBuffer::upload`] and [`GpuBuffer::download`], and [`stats`] counts them.
//! - One file per family of kernels, each with a parity test against the CPU kernel (the oracle).
//!
//! Wrappers take validated geometry (the same structs of [`crate::geometry`] as the CPU kernels)
//! and buffers of the right lengths, and follow the crate's output rule (see the crate doc):
//! every kernel overwrites its output.
pub mod batch_norm;
mod buffer;
mod context;
pub mod conv;
pub mod depthwise_conv;
pub mod dropout;
pub mod elementwise;
pub mod gather;
pub mod matmul;
pub mod metrics;
pub mod optimizer;
pub mod pool;
pub mod profile;
pub mod reduce;
pub mod softmax_cross_entropy;
pub mod zero_pad;

pub use buffer::{
    dispatches_by_kernel, has_room_for, memory_held, parse_bytes, stats, GpuBuffer, TransferStats,
    MEMORY_VARIABLE, VIEW_ALIGNMENT,
};
pub use context::{
    choose_adapter, context, dispatch, grid_1d, groups_2d, local_rank, shader_checks, submit,
    synchronize, Access, GpuContext, Kernel, GPU_VARIABLE, LARGE_TILES_VARIABLE,
    LOCAL_RANK_VARIABLES, LOOP_BOUNDS_VARIABLE, SUBGROUPS_VARIABLE, WORKGROUP_SIZE,
};

#[cfg(test)]
pub(crate) mod testing;
