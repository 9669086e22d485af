// x̂ = (x − μ)·(1/σ), y = γ·x̂ + β, one thread per element; see batch_norm_common.wgsl.

@group(0) @binding(1) var<storage, read> x: array<f32>;       // (M, C)
@group(0) @binding(2) var<storage, read> mean: array<f32>;    // (C)
@group(0) @binding(3) var<storage, read> inv_std: array<f32>; // (C)
@group(0) @binding(4) var<storage, read> gamma: array<f32>;   // (C)
@group(0) @binding(5) var<storage, read> beta: array<f32>;    // (C)
@group(0) @binding(6) var<storage, read_write> x_hat: array<f32>; // (M, C)
@group(0) @binding(7) var<storage, read_write> y: array<f32>;     // (M, C)

@compute @workgroup_size(256)
fn batch_norm_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.m * p.c { return; }
    let c = i % p.c;
    let h = (x[i] - mean[c]) * inv_std[c];
    x_hat[i] = h;
    y[i] = gamma[c] * h + beta[c];
}
