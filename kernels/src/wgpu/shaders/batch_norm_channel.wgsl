// Per-channel updates, one thread per channel; see batch_norm_common.wgsl.

@group(0) @binding(1) var<storage, read> mean: array<f32>;     // (C) batch mean
@group(0) @binding(2) var<storage, read> variance: array<f32>; // (C) batch (biased) variance
@group(0) @binding(3) var<storage, read_write> moving_mean: array<f32>;     // (C), in place
@group(0) @binding(4) var<storage, read_write> moving_variance: array<f32>; // (C), in place

// mm = m·mm + (1−m)·μ,  mv = m·mv + (1−m)·σ²·bessel.
@compute @workgroup_size(256)
fn update_moving(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let c = linear_index(gid, groups);
    if c >= p.c { return; }
    moving_mean[c] = p.momentum * moving_mean[c] + p.one_minus_momentum * mean[c];
    moving_variance[c] = p.momentum * moving_variance[c] + p.one_minus_momentum * variance[c] * p.bessel;
}
