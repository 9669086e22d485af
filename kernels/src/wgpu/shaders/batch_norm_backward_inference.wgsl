// dx of batch normalization in inference mode, one thread per element; see batch_norm_common.wgsl.
//   dx = γ/σ · dy        (μ and σ are the moving statistics: constants)

@group(0) @binding(1) var<storage, read> dy: array<f32>;      // (M, C)
@group(0) @binding(2) var<storage, read> gamma: array<f32>;   // (C)
@group(0) @binding(3) var<storage, read> inv_std: array<f32>; // (C)
@group(0) @binding(4) var<storage, read_write> dx: array<f32>; // (M, C)

@compute @workgroup_size(256)
fn backward_x_inference(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.m * p.c { return; }
    let c = i % p.c;
    dx[i] = dy[i] * (gamma[c] * inv_std[c]);
}
