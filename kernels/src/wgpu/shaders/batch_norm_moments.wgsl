// The batch mean and biased variance of each channel, two passes (mean, then Σ(x − μ)²).
// One workgroup per channel; see batch_norm_common.wgsl.

@group(0) @binding(1) var<storage, read> x: array<f32>;            // (M, C)
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;     // (C)
@group(0) @binding(3) var<storage, read_write> variance: array<f32>; // (C)

@compute @workgroup_size(256)
fn batch_norm_moments(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let c = linear_group(wid, groups);
    let t = lid.x;
    // Every thread of the workgroup runs to the barriers, even in a group past the last channel.
    let live = c < p.c;
    var s = 0.0;
    if live {
        for (var m = t; m < p.m; m += 256u) {
            s += x[m * p.c + c];
        }
    }
    let mu = workgroup_sum(t, s) / f32(p.m);
    var s2 = 0.0;
    if live {
        for (var m = t; m < p.m; m += 256u) {
            let d = x[m * p.c + c] - mu;
            s2 += d * d;
        }
    }
    let var_c = workgroup_sum(t, s2) / f32(p.m);
    if live && t == 0u {
        mean[c] = mu;
        variance[c] = var_c;
    }
}
