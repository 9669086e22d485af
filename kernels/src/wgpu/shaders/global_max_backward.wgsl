// Global max pooling backward, as TensorFlow's reduce_max gradient (and autograd's `max`):
// the pixels that tie for the maximum share dy equally,
//   dx[n, h, w, c] = (x[n, h, w, c] == y[n, c]) / count[n, c] · dy[n, c].
// One thread per (n, c): it counts the ties of its image and channel, then writes the H·W
// gradients of that channel. Params: pool_params.wgsl.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn global_max_backward_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = linear_index(gid, groups);
    if e >= p.count {
        return;
    }
    let ch = e % p.c;
    let n = e / p.c;
    let pixels = p.h * p.w;
    let best = y[e];
    var ties = 0u;
    for (var i = 0u; i < pixels; i++) {
        if x[(n * pixels + i) * p.c + ch] == best {
            ties += 1u;
        }
    }
    let share = (1.0 / f32(ties)) * dy[e];
    for (var i = 0u; i < pixels; i++) {
        let at = (n * pixels + i) * p.c + ch;
        dx[at] = select(0.0, share, x[at] == best);
    }
}
