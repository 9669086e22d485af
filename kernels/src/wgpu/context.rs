//! The GPU itself: one wgpu device and queue for the whole process, the compiled pipelines,
//! and the command encoder that collects dispatches until their results are needed.
//!
//! # How a kernel runs
//! A kernel is a WGSL compute shader ([`Kernel`]). [`dispatch`] does not run it at once: it
//! records the dispatch into a *pending* command encoder and writes the kernel's small
//! parameter block (sizes, strides, scalars) into a parameter arena at a 256-byte slot. Copies
//! from the host are recorded in the same encoder, in order, through a staging belt
//! ([`GpuContext::write_in_order`]). The pending work is submitted to the queue only when `fit`
//! ends a training step ([`submit`]), the host reads numbers back, or the arena is full: one
//! submission per training step, not one per kernel.
//!
//! # When the GPU fails
//! A new buffer that does not fit is a [`KernelError::GpuOutOfMemory`] (see `buffer.rs`). A lost
//! device, or an error wgpu reports outside any error scope, would make wgpu panic; here it is
//! recorded, and every later call returns [`KernelError::GpuFault`].
//!
//! Ordering is the queue's: dispatches run in the order they were recorded (into one compute
//! pass, until a copy or a submission ends it), and wgpu inserts the barriers between a
//! dispatch that writes a buffer and a later one that reads it.
//!
//! Pipelines are compiled once per kernel, and bind groups made once per kernel and set of
//! buffers: the buffers come from a pool, so a training step binds the same ones at every step.
//! [`super::stats`] counts the dispatches, the bind groups made and the submissions, beside the
//! copies and allocations.
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use super::buffer::BufferPool;
use super::profile::{GpuProfile, Profiler};
use crate::KernelError;

/// Bytes of one parameter slot: the `min_storage_buffer_offset_alignment` every adapter meets.
pub const PARAM_SLOT_BYTES: usize = 256;
/// Dispatches recorded before the pending work is submitted on its own.
const SLOTS_PER_SUBMIT: usize = 1024;
/// Threads per workgroup of the one-dimensional kernels (`@workgroup_size(256)`).
pub const WORKGROUP_SIZE: u32 = 256;
/// The most workgroups along one axis of a dispatch (WebGPU's guaranteed limit).
const MAX_GROUPS_PER_AXIS: u32 = 65_535;

/// How a kernel uses one of its buffers. Binding 0 is always the parameter block; the buffers
/// follow from binding 1 in the order of this list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `var<storage, read>`: an input.
    Read,
    /// `var<storage, read_write>`: an output, or a buffer updated in place.
    ReadWrite,
}

/// A WGSL compute shader entry point and the buffers it binds.
#[derive(Debug)]
pub struct Kernel {
    /// Name for errors and profiles (`"elementwise.binary"`).
    pub name: &'static str,
    /// The WGSL source (the shared prelude of `shaders/prelude.wgsl` is put in front of it).
    pub source: &'static str,
    /// The `@compute` function to run.
    pub entry: &'static str,
    /// How each buffer from binding 1 on is used.
    pub buffers: &'static [Access],
}

/// The device, its queue, and everything that lives as long as they do.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    /// "NVIDIA H200 (Vulkan, discrete GPU, driver NVIDIA 570.86)"…
    description: String,
    /// Whether the adapter is a software renderer (llvmpipe/lavapipe, WARP, SwiftShader).
    software: bool,
    /// Whether kernels may use subgroup operations (see [`GpuContext::has_subgroups`]).
    subgroups: bool,
    /// The run-time checks wgpu compiles into each shader (see [`LOOP_BOUNDS_VARIABLE`]).
    shader_checks: wgpu::ShaderRuntimeChecks,
    /// Whether large products take the 128×128 tiles (see [`LARGE_TILES_VARIABLE`]).
    large_tiles: bool,
    /// Largest buffer one binding may see, in bytes.
    pub(crate) max_binding_bytes: u64,
    /// The cap on the memory held, from `ASTROGRAD_GPU_MEMORY` (`None`: the GPU's own), or
    /// what is wrong with the variable's value (an error for every new buffer).
    pub(crate) memory_limit: std::result::Result<Option<u64>, String>,
    pipelines: Mutex<HashMap<(&'static str, &'static str), Pipeline>>,
    /// Bind groups made so far, by kernel and buffers (see [`dispatch`]).
    bind_groups: Mutex<HashMap<BindKey, wgpu::BindGroup>>,
    pending: Mutex<Pending>,
    pub(crate) pool: BufferPool,
}

struct Pipeline {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// What a bind group binds: the kernel (its name and entry point) and its buffers from binding 1
/// on (binding 0 is always the parameter arena, at a dynamic offset).
/// A bind group's kernel and, for each of its buffers, the wgpu buffer with the offset and
/// size bound (a view binds a stretch of a larger buffer).
type BindKey = ((&'static str, &'static str), Vec<(wgpu::Buffer, u64, u64)>);

/// At most this many bind groups are kept; past it the cache starts again empty. A training step
/// binds the same few hundred combinations of kernel and buffers at every step.
const MAX_BIND_GROUPS: usize = 8192;

/// Work recorded but not yet submitted.
struct Pending {
    encoder: Option<wgpu::CommandEncoder>,
    /// The compute pass that the dispatches go into, one after the other (wgpu puts the
    /// barriers between a dispatch that writes a buffer and a later one that reads it). It stays
    /// open until a copy or the submission needs the encoder: one pass per kernel would cost
    /// more to record than the small kernels of a training step take to run.
    pass: Option<wgpu::ComputePass<'static>>,
    /// Parameter blocks of the recorded dispatches, one 256-byte slot each.
    params: Vec<u8>,
    /// The buffer the slots are copied into when the work is submitted.
    arena: wgpu::Buffer,
    /// Dispatches so far by kernel name (counted here, under the lock `dispatch` holds anyway).
    dispatches_by_kernel: BTreeMap<&'static str, u64>,
    /// Host-writable staging memory for uploads recorded in order with the dispatches
    /// ([`GpuContext::write_in_order`]); its chunks come back for reuse once the GPU has
    /// copied out of them.
    belt: wgpu::util::StagingBelt,
    /// The GPU's timing of each dispatch, under `ASTROGRAD_GPU_PROFILE=1` (`profile.rs`).
    profiler: Option<Profiler>,
}

/// Uploads up to this size go through the staging belt, in order with the pending work; a
/// larger one (a whole training set, once) is written directly after a submission.
pub(crate) const IN_ORDER_UPLOAD_BYTES: u64 = 16 << 20;
/// Bytes of one chunk of the staging belt: several batches of the course's models.
const STAGING_CHUNK_BYTES: u64 = 4 << 20;

static CONTEXT: OnceLock<std::result::Result<GpuContext, String>> = OnceLock::new();

/// The process's GPU, opened on first use.
///
/// # Errors
/// [`KernelError::NoGpu`] when wgpu finds no adapter (no Vulkan, Metal or DX12 driver) or the
/// adapter refuses to open a device; the message says which.
pub fn context() -> Result<&'static GpuContext, KernelError> {
    let ctx = CONTEXT
        .get_or_init(GpuContext::open)
        .as_ref()
        .map_err(|reason| KernelError::NoGpu {
            reason: reason.clone(),
        })?;
    check_fault()?;
    Ok(ctx)
}

/// Set once the GPU has failed for good (see [`record_fault`]).
static FAULTED: AtomicBool = AtomicBool::new(false);
/// What the first such failure was.
static FAULT: Mutex<Option<String>> = Mutex::new(None);

/// Remembers a failure that leaves the GPU unusable: the device was lost, or wgpu reported an
/// error outside every error scope (out-of-memory errors of new buffers are caught in a scope
/// and are not faults). wgpu's default is to panic; astrograd makes every later GPU call return
/// [`KernelError::GpuFault`] instead.
fn record_fault(reason: String) {
    if let Ok(mut fault) = FAULT.lock() {
        fault.get_or_insert(reason);
    }
    FAULTED.store(true, Ordering::Release);
}

/// [`KernelError::GpuFault`] once the GPU has failed.
pub(crate) fn check_fault() -> Result<(), KernelError> {
    if !FAULTED.load(Ordering::Acquire) {
        return Ok(());
    }
    let reason = FAULT
        .lock()
        .ok()
        .and_then(|fault| fault.clone())
        .unwrap_or_else(|| "an earlier failure".to_string());
    Err(KernelError::GpuFault { reason })
}

impl GpuContext {
    fn open() -> std::result::Result<GpuContext, String> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = match std::env::var(GPU_VARIABLE) {
            // ASTROGRAD_GPU=N: the N-th adapter of the list, as `adapters()` numbers them.
            Ok(requested) => {
                let mut adapters =
                    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
                let names: Vec<String> = adapters.iter().map(|a| describe(&a.get_info())).collect();
                let index = choose_adapter(&requested, &names)?;
                adapters.swap_remove(index)
            }
            Err(_) => {
                // Several processes of one MPI job on a machine: one GPU each, by local rank.
                let mut hardware: Vec<wgpu::Adapter> =
                    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
                        .into_iter()
                        .filter(|a| a.get_info().device_type != wgpu::DeviceType::Cpu)
                        .collect();
                let local = local_rank(|name| std::env::var(name).ok());
                match local.filter(|_| !hardware.is_empty()) {
                    Some(rank) => hardware.swap_remove(rank % hardware.len()),
                    None => pollster::block_on(instance.request_adapter(
                        &wgpu::RequestAdapterOptions {
                            power_preference: wgpu::PowerPreference::HighPerformance,
                            ..Default::default()
                        },
                    ))
                    .map_err(|e| {
                        format!("no GPU adapter found ({e}); install a Vulkan, Metal or DX12 driver (on Linux without a GPU: Mesa's lavapipe, package mesa-vulkan-drivers)")
                    })?,
                }
            }
        };
        let info = adapter.get_info();
        let supported = adapter.limits();
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: supported.max_storage_buffer_binding_size,
            max_buffer_size: supported.max_buffer_size,
            max_storage_buffers_per_shader_stage: supported
                .max_storage_buffers_per_shader_stage
                .min(8),
            max_compute_workgroup_storage_size: supported.max_compute_workgroup_storage_size,
            ..wgpu::Limits::default()
        };
        // Subgroup operations where the adapter has them, unless ASTROGRAD_GPU_SUBGROUPS=0.
        let subgroups = adapter.features().contains(wgpu::Features::SUBGROUP)
            && !turned_off(SUBGROUPS_VARIABLE);
        // Timestamps for the profiler, where asked for and the adapter has them.
        let profiling = super::profile::requested(
            std::env::var(super::profile::PROFILE_VARIABLE)
                .ok()
                .as_deref(),
        ) && adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let mut required_features = wgpu::Features::empty();
        if subgroups {
            required_features |= wgpu::Features::SUBGROUP;
        }
        if profiling {
            required_features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        let shader_checks = shader_checks(std::env::var(LOOP_BOUNDS_VARIABLE).ok().as_deref());
        let large_tiles = !turned_off(LARGE_TILES_VARIABLE);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("astrograd"),
            required_features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| {
            format!(
                "the GPU adapter {} refused to open a device: {e}",
                info.name
            )
        })?;
        device.on_uncaptured_error(std::sync::Arc::new(|error: wgpu::Error| {
            record_fault(format!("the GPU reported an error: {error}"));
        }));
        device.set_device_lost_callback(|reason, message| {
            record_fault(format!("the device was lost ({reason:?}): {message}"));
        });
        let belt = wgpu::util::StagingBelt::new(device.clone(), STAGING_CHUNK_BYTES);
        let memory_limit = match std::env::var(super::buffer::MEMORY_VARIABLE) {
            Ok(text) => super::buffer::parse_bytes(&text).map(Some),
            Err(_) => Ok(None),
        };
        let arena = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("astrograd.params"),
            size: (PARAM_SLOT_BYTES * SLOTS_PER_SUBMIT) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let profiler = profiling.then(|| Profiler::new(&device, &queue, SLOTS_PER_SUBMIT));
        Ok(GpuContext {
            description: describe(&info),
            software: info.device_type == wgpu::DeviceType::Cpu,
            subgroups,
            shader_checks,
            large_tiles,
            max_binding_bytes: limits.max_storage_buffer_binding_size,
            memory_limit,
            device,
            queue,
            pipelines: Mutex::new(HashMap::new()),
            bind_groups: Mutex::new(HashMap::new()),
            pending: Mutex::new(Pending {
                encoder: None,
                pass: None,
                params: Vec::with_capacity(PARAM_SLOT_BYTES * SLOTS_PER_SUBMIT),
                arena,
                dispatches_by_kernel: BTreeMap::new(),
                belt,
                profiler,
            }),
            pool: BufferPool::default(),
        })
    }

    /// The adapter's name, backend, kind and driver, e.g. `"NVIDIA H200 (Vulkan, discrete GPU,
    /// driver NVIDIA 570.86)"` or `"llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, software renderer,
    /// driver llvmpipe Mesa 22.3.6)"`. wgpu does not report the memory.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the adapter is a software renderer that runs on the CPU (Mesa's llvmpipe, WARP,
    /// SwiftShader): correct, but slower than astrograd's own CPU kernels.
    pub fn is_software(&self) -> bool {
        self.software
    }

    /// Whether the kernels that have a subgroup version use it: the adapter has wgpu's
    /// `subgroups` feature (Vulkan, Metal and DX12 drivers of current GPUs do) and
    /// `ASTROGRAD_GPU_SUBGROUPS` is not `0`. Without it, the portable versions run.
    pub fn has_subgroups(&self) -> bool {
        self.subgroups
    }

    /// Whether products of at least 2048 rows and columns take the 128×128 tiles
    /// (`ASTROGRAD_GPU_LARGE_TILES` is not `0`).
    pub fn has_large_tiles(&self) -> bool {
        self.large_tiles
    }

    /// Dispatches so far by kernel name (see [`super::dispatches_by_kernel`]).
    pub(crate) fn dispatches_by_kernel(&self) -> Result<BTreeMap<&'static str, u64>, KernelError> {
        Ok(lock(&self.pending, "pending GPU work")?
            .dispatches_by_kernel
            .clone())
    }

    /// What the profiler has taken so far (see [`super::profile::profile`]).
    pub(crate) fn profile(&self) -> Result<Option<GpuProfile>, KernelError> {
        let pending = lock(&self.pending, "pending GPU work")?;
        Ok(pending.profiler.as_ref().map(|p| p.totals.clone()))
    }

    /// Drops every cached bind group (they hold their buffers alive), before the pool frees
    /// its buffers.
    pub(crate) fn forget_bind_groups(&self) -> Result<(), KernelError> {
        lock(&self.bind_groups, "GPU bind group cache")?.clear();
        Ok(())
    }

    /// Records `f` into the pending encoder (used for buffer copies and clears).
    ///
    /// # Errors
    /// [`KernelError::GpuPoisoned`] after an earlier GPU call failed mid-way.
    pub(crate) fn record(
        &self,
        f: impl FnOnce(&mut wgpu::CommandEncoder),
    ) -> Result<(), KernelError> {
        let mut pending = lock(&self.pending, "pending GPU work")?;
        // Dropping the pass ends it, which gives the encoder back for the copy.
        pending.pass = None;
        let encoder = pending.encoder.get_or_insert_with(|| {
            self.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
        });
        f(encoder);
        Ok(())
    }

    /// Records a copy of `bytes` (a multiple of 4, at most [`IN_ORDER_UPLOAD_BYTES`]) into the
    /// start of `target`, in order with the pending work: through a slice of the staging belt
    /// and a copy command in the pending encoder, so that no submission is needed first (a
    /// `queue.write_buffer` would run before every pending dispatch, so a recycled buffer
    /// could be overwritten before an earlier dispatch had read it).
    pub(crate) fn write_in_order(
        &self,
        target: &wgpu::Buffer,
        bytes: &[u8],
    ) -> Result<(), KernelError> {
        let Some(size) = wgpu::BufferSize::new(bytes.len() as u64) else {
            return Ok(());
        };
        let mut pending = lock(&self.pending, "pending GPU work")?;
        let pending = &mut *pending;
        pending.pass = None;
        let encoder = pending.encoder.get_or_insert_with(|| {
            self.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
        });
        pending
            .belt
            .write_buffer(encoder, target, 0, size)
            .copy_from_slice(bytes);
        Ok(())
    }

    /// Submits everything recorded so far. The host calls it before it reads or writes a
    /// buffer itself, so that it sees (or does not disturb) the results of earlier dispatches.
    ///
    /// # Errors
    /// [`KernelError::GpuPoisoned`] after an earlier GPU call failed mid-way.
    pub(crate) fn flush(&self) -> Result<(), KernelError> {
        let mut pending = lock(&self.pending, "pending GPU work")?;
        self.submit(&mut pending);
        check_fault()
    }

    fn submit(&self, pending: &mut Pending) {
        pending.pass = None;
        let Some(mut encoder) = pending.encoder.take() else {
            return;
        };
        if !pending.params.is_empty() {
            self.queue.write_buffer(&pending.arena, 0, &pending.params);
            pending.params.clear();
        }
        if let Some(profiler) = &pending.profiler {
            profiler.resolve(&mut encoder);
        }
        pending.belt.finish();
        self.queue.submit([encoder.finish()]);
        pending.belt.recall();
        super::buffer::SUBMISSIONS.fetch_add(1, Ordering::Relaxed);
        if let Some(profiler) = &mut pending.profiler {
            // The wait fails only when the device does.
            if let Err(e) = profiler.collect(&self.device) {
                record_fault(e.to_string());
            }
        }
        // Let wgpu free what finished submissions no longer need, without waiting: a training
        // epoch may go by without any blocking read.
        let _ = self.device.poll(wgpu::PollType::Poll);
    }

    fn pipeline<'a>(
        &self,
        pipelines: &'a mut HashMap<(&'static str, &'static str), Pipeline>,
        kernel: &Kernel,
    ) -> &'a Pipeline {
        pipelines
            .entry((kernel.name, kernel.entry))
            .or_insert_with(|| {
                let mut entries = vec![storage_entry(0, true, true)];
                for (i, access) in kernel.buffers.iter().enumerate() {
                    entries.push(storage_entry(i as u32 + 1, *access == Access::Read, false));
                }
                let layout =
                    self.device
                        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                            label: Some(kernel.name),
                            entries: &entries,
                        });
                let pipeline_layout =
                    self.device
                        .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                            label: Some(kernel.name),
                            bind_group_layouts: &[Some(&layout)],
                            immediate_size: 0,
                        });
                let source = format!(
                    "{}\n{}",
                    include_str!("shaders/prelude.wgsl"),
                    kernel.source
                );
                // SAFETY: the only check left out is the loop counter, which no astrograd loop
                // needs: each is bounded by a size from its parameter block
                // (LOOP_BOUNDS_VARIABLE's documentation).
                let module = unsafe {
                    self.device.create_shader_module_trusted(
                        wgpu::ShaderModuleDescriptor {
                            label: Some(kernel.name),
                            source: wgpu::ShaderSource::Wgsl(source.into()),
                        },
                        self.shader_checks,
                    )
                };
                let pipeline =
                    self.device
                        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                            label: Some(kernel.name),
                            layout: Some(&pipeline_layout),
                            module: &module,
                            entry_point: Some(kernel.entry),
                            compilation_options: Default::default(),
                            cache: None,
                        });
                Pipeline { pipeline, layout }
            })
    }
}

/// Sends the work recorded so far to the GPU without waiting for it: `fit` calls it at the end
/// of each training step, so that the GPU runs a step while the host records the next one.
///
/// # Errors
/// [`KernelError::NoGpu`] without a GPU; [`KernelError::GpuPoisoned`] after an earlier GPU call
/// failed mid-way; [`KernelError::GpuFault`] once the device is lost.
pub fn submit() -> Result<(), KernelError> {
    context()?.flush()
}

/// Submits the pending work and waits until the GPU has finished it (for timing: a benchmark
/// iteration ends here, so that it measures the kernels, not their recording).
///
/// # Errors
/// [`KernelError::NoGpu`] without a GPU; [`KernelError::GpuLimit`] if waiting fails.
pub fn synchronize() -> Result<(), KernelError> {
    let ctx = context()?;
    ctx.flush()?;
    ctx.device
        .poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: None,
        })
        .map_err(|e| KernelError::GpuLimit {
            op: "synchronize",
            msg: format!("waiting for the GPU failed: {e}"),
        })?;
    check_fault()
}

fn storage_entry(binding: u32, read_only: bool, dynamic: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}

/// Records one dispatch of `kernel` over `workgroups`, with `params` (at most 256 bytes,
/// read in the shader as `var<storage, read> p: Params`) and `buffers` bound from binding 1.
///
/// # Panics
/// If `buffers` does not match `kernel.buffers` in number or `params` is over 256 bytes: both
/// are fixed by the calling wrapper, so either is a bug in this crate.
pub fn dispatch(
    kernel: &Kernel,
    params: &[u32],
    buffers: &[&super::GpuBuffer],
    workgroups: [u32; 3],
) -> Result<(), KernelError> {
    assert_eq!(
        buffers.len(),
        kernel.buffers.len(),
        "{}: wrong number of buffers",
        kernel.name
    );
    assert!(
        params.len() * 4 <= PARAM_SLOT_BYTES,
        "{}: parameter block too large",
        kernel.name
    );
    if workgroups.contains(&0) {
        return Ok(());
    }
    let ctx = context()?;
    for buffer in buffers {
        if buffer.byte_size() > ctx.max_binding_bytes {
            return Err(KernelError::GpuLimit {
                op: kernel.name,
                msg: format!(
                    "a buffer of {} bytes is larger than this GPU binds at once ({} bytes)",
                    buffer.byte_size(),
                    ctx.max_binding_bytes
                ),
            });
        }
    }
    let mut pipelines = lock(&ctx.pipelines, "GPU pipeline cache")?;
    let pipeline = ctx.pipeline(&mut pipelines, kernel);
    let mut pending = lock(&ctx.pending, "pending GPU work")?;
    if pending.params.len() == PARAM_SLOT_BYTES * SLOTS_PER_SUBMIT {
        ctx.submit(&mut pending);
    }
    let offset = pending.params.len();
    pending
        .params
        .extend_from_slice(bytemuck::cast_slice(params));
    pending.params.resize(offset + PARAM_SLOT_BYTES, 0);
    // Bind groups are cached: the buffers come from the pool, so a training step meets the
    // same kernel with the same buffers at every step, and making a bind group per dispatch
    // cost more to record than the small kernels take to run. The cache holds clones of the
    // buffers, which the pool keeps alive anyway (it never frees one).
    let key: BindKey = (
        (kernel.name, kernel.entry),
        buffers
            .iter()
            .map(|b| (b.raw().clone(), b.offset(), b.byte_size()))
            .collect(),
    );
    let mut bind_groups = lock(&ctx.bind_groups, "GPU bind group cache")?;
    if bind_groups.len() >= MAX_BIND_GROUPS && !bind_groups.contains_key(&key) {
        bind_groups.clear();
    }
    let bind_group: &wgpu::BindGroup = bind_groups.entry(key).or_insert_with(|| {
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &pending.arena,
                offset: 0,
                size: wgpu::BufferSize::new(PARAM_SLOT_BYTES as u64),
            }),
        }];
        for (i, buffer) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: buffer.raw(),
                    offset: buffer.offset(),
                    size: wgpu::BufferSize::new(buffer.byte_size()),
                }),
            });
        }
        super::buffer::BIND_GROUPS.fetch_add(1, Ordering::Relaxed);
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name),
            layout: &pipeline.layout,
            entries: &entries,
        })
    });
    let pending = &mut *pending;
    if pending.profiler.is_some() {
        // A pass of its own, stamped by the GPU at its start and end.
        pending.pass = None;
    }
    if pending.pass.is_none() {
        let encoder = pending.encoder.get_or_insert_with(|| {
            ctx.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
        });
        let pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("astrograd"),
            timestamp_writes: pending
                .profiler
                .as_mut()
                .map(|profiler| profiler.next_pass(kernel.name)),
        });
        pending.pass = Some(pass.forget_lifetime());
    }
    let pass = pending.pass.as_mut().expect("opened above");
    pass.set_pipeline(&pipeline.pipeline);
    pass.set_bind_group(0, bind_group, &[offset as u32]);
    pass.dispatch_workgroups(workgroups[0], workgroups[1], workgroups[2]);
    super::buffer::DISPATCHES.fetch_add(1, Ordering::Relaxed);
    *pending.dispatches_by_kernel.entry(kernel.name).or_default() += 1;
    Ok(())
}

/// The environment variable that turns the subgroup versions of kernels off (`0`), to compare
/// them with the portable ones or to work around a driver.
pub const SUBGROUPS_VARIABLE: &str = "ASTROGRAD_GPU_SUBGROUPS";

/// The environment variable that gives every shader loop wgpu's iteration bound again (`1`).
///
/// wgpu compiles three run-time checks into a shader by default: array indices clamped into
/// their buffers, integer divisions guarded against zero, and an iteration counter in every
/// loop that ends it after 2⁶⁴ rounds (against a driver that would treat an endless loop as
/// undefined). astrograd keeps the first two and leaves the counter out: each of its loops is
/// bounded by a size from its parameter block, and the counter seems to keep NVIDIA's compiler
/// from unrolling the matmul's inner loops. Measured on an H200 (docs/gpu.md): a 1023³ product
/// 5.04 → 0.28 ms, a Fashion-MNIST MLP step 3.1 → 0.38 ms of GPU time.
pub const LOOP_BOUNDS_VARIABLE: &str = "ASTROGRAD_GPU_LOOP_BOUNDS";

/// The checks compiled into each shader: wgpu's, less the loop counter unless `value` of
/// [`LOOP_BOUNDS_VARIABLE`] is `1`.
pub fn shader_checks(value: Option<&str>) -> wgpu::ShaderRuntimeChecks {
    wgpu::ShaderRuntimeChecks {
        force_loop_bounding: value.is_some_and(|v| v.trim() == "1"),
        ..wgpu::ShaderRuntimeChecks::checked()
    }
}

/// The environment variable that turns the 128×128 matmul tiles off (`0`), to compare them
/// with the 64×64 ones on a large product.
pub const LARGE_TILES_VARIABLE: &str = "ASTROGRAD_GPU_LARGE_TILES";

/// Whether the environment variable `name` is `0`: a switch that is on unless turned off.
fn turned_off(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.trim() == "0")
}

/// The environment variable that picks an adapter by its number, for machines with several.
pub const GPU_VARIABLE: &str = "ASTROGRAD_GPU";

/// The variables in which MPI launchers give a process its rank among those on its machine:
/// Open MPI, Slurm's `srun`, MPICH's Hydra and Intel MPI.
pub const LOCAL_RANK_VARIABLES: [&str; 3] = [
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "SLURM_LOCALID",
    "MPI_LOCALRANKID",
];

/// This process's rank on its machine in an MPI job (`None` outside one), read through `get`:
/// without `ASTROGRAD_GPU`, process `r` of a machine with `g` GPUs takes GPU `r mod g`.
pub fn local_rank(get: impl Fn(&str) -> Option<String>) -> Option<usize> {
    LOCAL_RANK_VARIABLES
        .iter()
        .find_map(|name| get(name)?.trim().parse().ok())
}

/// "name (backend, kind, driver …)", from what the adapter says of itself.
fn describe(info: &wgpu::AdapterInfo) -> String {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => "discrete GPU",
        wgpu::DeviceType::IntegratedGpu => "integrated GPU",
        wgpu::DeviceType::VirtualGpu => "virtual GPU",
        wgpu::DeviceType::Cpu => "software renderer",
        wgpu::DeviceType::Other => "unknown kind",
    };
    let driver = format!("{} {}", info.driver, info.driver_info);
    let driver = driver.trim();
    let driver = if driver.is_empty() {
        "not reported"
    } else {
        driver
    };
    format!(
        "{} ({:?}, {kind}, driver {driver})",
        info.name, info.backend
    )
}

/// The index that `ASTROGRAD_GPU=requested` picks among the adapters described by `adapters`.
///
/// # Errors
/// A message naming the value and listing the adapters, if `requested` is not a whole number
/// or there is no adapter with that number.
pub fn choose_adapter(requested: &str, adapters: &[String]) -> std::result::Result<usize, String> {
    let list = || {
        let lines: Vec<String> = adapters
            .iter()
            .enumerate()
            .map(|(i, a)| format!("  {i}: {a}"))
            .collect();
        if lines.is_empty() {
            "no adapter at all (install a Vulkan, Metal or DX12 driver)".to_string()
        } else {
            format!("the adapters here:\n{}", lines.join("\n"))
        }
    };
    match requested.trim().parse::<usize>() {
        Ok(index) if index < adapters.len() => Ok(index),
        Ok(index) => Err(format!(
            "{GPU_VARIABLE}={index}, but there is no adapter {index}; {}",
            list()
        )),
        Err(_) => Err(format!(
            "{GPU_VARIABLE}={requested:?} is not an adapter number; {}",
            list()
        )),
    }
}

/// Workgroups for `threads` threads of a one-dimensional kernel, spread over a second axis
/// when one axis is not enough. The shader rebuilds the thread number with `linear_index`.
pub fn grid_1d(threads: usize) -> [u32; 3] {
    let groups = threads.div_ceil(WORKGROUP_SIZE as usize) as u32;
    groups_2d(groups)
}

/// `groups` workgroups (one per output, say) spread over two axes; the shader rebuilds the
/// workgroup number with `linear_group`.
pub fn groups_2d(groups: u32) -> [u32; 3] {
    if groups <= MAX_GROUPS_PER_AXIS {
        [groups, 1, 1]
    } else {
        [MAX_GROUPS_PER_AXIS, groups.div_ceil(MAX_GROUPS_PER_AXIS), 1]
    }
}

/// Locks `mutex`, shared by every GPU call of the process. A poisoned lock (a call panicked while
/// holding it, leaving `what` perhaps half-updated) is an error for every later call, not a
/// second panic.
pub(crate) fn lock<'a, T>(
    mutex: &'a std::sync::Mutex<T>,
    what: &'static str,
) -> Result<std::sync::MutexGuard<'a, T>, KernelError> {
    mutex.lock().map_err(|_| KernelError::GpuPoisoned { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After a call panics while holding the GPU's shared state, the next one gets an error.
    #[test]
    fn a_poisoned_lock_is_an_error_for_every_later_call() {
        let pending = std::sync::Mutex::new(0_u32);
        assert_eq!(*lock(&pending, "pending GPU work").unwrap(), 0);
        let poisoned = std::panic::catch_unwind(|| {
            let _guard = pending.lock().unwrap();
            panic!("a GPU call fails mid-way");
        });
        assert!(poisoned.is_err());
        for _ in 0..2 {
            let err = lock(&pending, "pending GPU work").unwrap_err();
            assert_eq!(
                err,
                KernelError::GpuPoisoned {
                    what: "pending GPU work"
                }
            );
            assert!(err
                .to_string()
                .contains("held the pending GPU work; move the model to the CPU"));
        }
    }

    #[test]
    fn astrograd_gpu_picks_an_adapter_by_number_or_says_which_exist() {
        let adapters = [
            "NVIDIA H200 (Vulkan, discrete GPU, driver x)".to_string(),
            "llvmpipe (Vulkan, software renderer, driver y)".to_string(),
        ];
        assert_eq!(choose_adapter("1", &adapters), Ok(1));
        // Under mpirun or srun, the local rank picks the GPU when ASTROGRAD_GPU is not set.
        assert_eq!(local_rank(|_| None), None);
        let slurm = |name: &str| (name == "SLURM_LOCALID").then(|| "3".to_string());
        assert_eq!(local_rank(slurm), Some(3));
        let open_mpi = |name: &str| (name == "OMPI_COMM_WORLD_LOCAL_RANK").then(|| "1".into());
        assert_eq!(local_rank(open_mpi), Some(1));
        assert_eq!(local_rank(|_| Some("x".into())), None);
        assert_eq!(choose_adapter(" 0 ", &adapters), Ok(0));
        let err = choose_adapter("2", &adapters).unwrap_err();
        assert!(
            err.starts_with("ASTROGRAD_GPU=2, but there is no adapter 2"),
            "{err}"
        );
        assert!(
            err.contains("  1: llvmpipe (Vulkan, software renderer"),
            "{err}"
        );
        let err = choose_adapter("fast", &adapters).unwrap_err();
        assert!(
            err.starts_with("ASTROGRAD_GPU=\"fast\" is not an adapter number"),
            "{err}"
        );
        let err = choose_adapter("0", &[]).unwrap_err();
        assert!(err.contains("no adapter at all"), "{err}");
    }

    /// wgpu's checks, less the loop counter, unless `ASTROGRAD_GPU_LOOP_BOUNDS=1`.
    #[test]
    fn shaders_keep_wgpus_checks_but_the_loop_counter() {
        for value in [None, Some("0"), Some("yes")] {
            let checks = shader_checks(value);
            assert!(!checks.force_loop_bounding, "{value:?}");
            assert!(checks.bounds_checks && checks.int_div_checks, "{value:?}");
        }
        let all = shader_checks(Some(" 1"));
        assert!(all.force_loop_bounding && all.bounds_checks && all.int_div_checks);
    }

    #[test]
    fn print_whether_this_process_uses_subgroups() {
        if !crate::wgpu::testing::gpu_available() {
            return;
        }
        println!("subgroups: {}.", context().unwrap().has_subgroups());
    }

    /// `ASTROGRAD_GPU_SUBGROUPS=0` turns the subgroup kernels off (read when the GPU opens, so
    /// in child processes); without it they are on where the adapter has them (lavapipe has).
    #[test]
    fn astrograd_gpu_subgroups_turns_them_off() {
        if !crate::wgpu::testing::gpu_available() {
            return;
        }
        let child = |value| {
            crate::wgpu::testing::child_test_output(
                "wgpu::context::tests::print_whether_this_process_uses_subgroups",
                SUBGROUPS_VARIABLE,
                value,
            )
        };
        assert!(child(Some("0")).contains("subgroups: false."));
        if context().unwrap().description().contains("llvmpipe") {
            let default = child(None);
            assert!(default.contains("subgroups: true."), "{default}");
        }
    }

    /// The GPU this process opened says what it is; Mesa's llvmpipe (CI's lavapipe) is known
    /// as a software renderer.
    #[test]
    fn the_open_adapter_describes_itself() {
        if !crate::wgpu::testing::gpu_available() {
            return;
        }
        let ctx = context().unwrap();
        assert!(
            ctx.description().contains("driver "),
            "{}",
            ctx.description()
        );
        if ctx.description().contains("llvmpipe") {
            assert!(ctx.is_software(), "{}", ctx.description());
        }
    }
}
