// dx of batch normalization in training mode, one thread per element; see batch_norm_common.wgsl.
//   dx = (γ/σ)/M · (M·dy − Σ dy − x̂ · Σ dy·x̂)

@group(0) @binding(1) var<storage, read> dy: array<f32>;      // (M, C)
@group(0) @binding(2) var<storage, read> x_hat: array<f32>;   // (M, C)
@group(0) @binding(3) var<storage, read> gamma: array<f32>;   // (C)
@group(0) @binding(4) var<storage, read> inv_std: array<f32>; // (C)
@group(0) @binding(5) var<storage, read> sum_dy: array<f32>;       // (C) = dβ
@group(0) @binding(6) var<storage, read> sum_dy_x_hat: array<f32>; // (C) = dγ
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;     // (M, C)

@compute @workgroup_size(256)
fn backward_x_training(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.m * p.c { return; }
    let c = i % p.c;
    let positions = f32(p.m);
    let scale = gamma[c] * inv_std[c] / positions;
    dx[i] = scale * (positions * dy[i] - sum_dy[c] - x_hat[i] * sum_dy_x_hat[c]);
}
