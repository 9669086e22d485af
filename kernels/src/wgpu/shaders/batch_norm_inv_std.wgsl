// 1/σ = 1/sqrt(σ² + ε) per channel, one thread per channel; see batch_norm_common.wgsl.

@group(0) @binding(1) var<storage, read> variance: array<f32>;      // (C)
@group(0) @binding(2) var<storage, read_write> inv_std: array<f32>; // (C)

@compute @workgroup_size(256)
fn inv_std_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let c = linear_index(gid, groups);
    if c >= p.c { return; }
    inv_std[c] = 1.0 / sqrt(variance[c] + p.epsilon);
}
