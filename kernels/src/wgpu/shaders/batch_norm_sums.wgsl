// dβ = Σ dy and dγ = Σ dy·x̂ per channel (the two sums the training dx needs, too).
// One workgroup per channel; see batch_norm_common.wgsl.

@group(0) @binding(1) var<storage, read> dy: array<f32>;    // (M, C)
@group(0) @binding(2) var<storage, read> x_hat: array<f32>; // (M, C)
@group(0) @binding(3) var<storage, read_write> dgamma: array<f32>; // (C)
@group(0) @binding(4) var<storage, read_write> dbeta: array<f32>;  // (C)

@compute @workgroup_size(256)
fn batch_norm_sums(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let c = linear_group(wid, groups);
    let t = lid.x;
    let live = c < p.c;
    var s = 0.0;
    var s_h = 0.0;
    if live {
        for (var m = t; m < p.m; m += 256u) {
            let g = dy[m * p.c + c];
            s += g;
            s_h += g * x_hat[m * p.c + c];
        }
    }
    let sum_dy = workgroup_sum(t, s);
    let sum_dy_x_hat = workgroup_sum(t, s_h);
    if live && t == 0u {
        dbeta[c] = sum_dy;
        dgamma[c] = sum_dy_x_hat;
    }
}
