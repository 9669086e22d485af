// Global pooling over height and width: x (N, H, W, C) → y (N, C). Params: pool_params.wgsl.
//
// Forward (avg and max): one thread per (n, c) walks the H·W pixels of its image; neighbouring
// threads are neighbouring channels, so every step reads a contiguous run across a warp.
// Average backward: one thread per input element, dx[n, h, w, c] = dy[n, c] / (H·W).
// Binding 1 is x or dy, binding 2 is y or dx. (Max backward: global_max_backward.wgsl.)

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn global_avg_forward_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = linear_index(gid, groups);
    if e >= p.count {
        return;
    }
    let ch = e % p.c;
    let n = e / p.c;
    let pixels = p.h * p.w;
    var sum = 0.0;
    for (var i = 0u; i < pixels; i++) {
        sum += src[(n * pixels + i) * p.c + ch];
    }
    dst[e] = sum / f32(pixels);
}

@compute @workgroup_size(256)
fn global_avg_backward_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = linear_index(gid, groups);
    if e >= p.count {
        return;
    }
    let pixels = p.h * p.w;
    let ch = e % p.c;
    let n = e / (p.c * pixels);
    dst[e] = src[n * p.c + ch] / f32(pixels);
}

@compute @workgroup_size(256)
fn global_max_forward_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = linear_index(gid, groups);
    if e >= p.count {
        return;
    }
    let ch = e % p.c;
    let n = e / p.c;
    let pixels = p.h * p.w;
    var best = src[n * pixels * p.c + ch];
    for (var i = 1u; i < pixels; i++) {
        best = max(best, src[(n * pixels + i) * p.c + ch]);
    }
    dst[e] = best;
}
