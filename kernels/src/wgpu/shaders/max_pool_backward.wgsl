// Max pooling backward as a gather: dx[i] = Σ of dy[o] over the windows o that contain input
// element i and whose argmax is i. The CPU scatters (dx[argmax[o]] += dy[o]); here one thread per
// input element visits the few windows that cover it and writes once: no atomics, and the sums
// run in output order, as on the CPU. Params: pool_params.wgsl.

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn max_pool_backward_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = linear_index(gid, groups);
    if e >= p.count {
        return;
    }
    let ch = e % p.c;
    let iw = (e / p.c) % p.w;
    let ih = (e / (p.c * p.w)) % p.h;
    let n = e / (p.c * p.w * p.h);
    let rows = covering_rows(ih);
    let cols = covering_cols(iw);
    var sum = 0.0;
    for (var oh = rows.x; oh < rows.y; oh++) {
        for (var ow = cols.x; ow < cols.y; ow++) {
            let o = ((n * p.oh + oh) * p.ow + ow) * p.c + ch;
            if argmax[o] == e {
                sum += dy[o];
            }
        }
    }
    dx[e] = sum;
}
