// Max pooling forward: y[n, oh, ow, c] = max over the valid cells of the window, and
// argmax = the flat index into x of the first cell (row by row) that holds it, as the CPU.
//
// Parallel scheme: one thread per output element; neighbouring threads are neighbouring channels,
// so each read of the window is contiguous across a warp. Params: pool_params.wgsl.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;

@compute @workgroup_size(256)
fn max_pool_forward_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = linear_index(gid, groups);
    if e >= p.count {
        return;
    }
    let ch = e % p.c;
    let ow = (e / p.c) % p.ow;
    let oh = (e / (p.c * p.ow)) % p.oh;
    let n = e / (p.c * p.ow * p.oh);
    let rows = window_rows(oh);
    let cols = window_cols(ow);
    var best = 0.0;
    var arg = 0u;
    var first = true;
    for (var ih = rows.x; ih < rows.y; ih++) {
        for (var iw = cols.x; iw < cols.y; iw++) {
            let i = ((n * p.h + ih) * p.w + iw) * p.c + ch;
            let v = x[i];
            // Strict `>`: the first maximum wins ties.
            if first || v > best {
                best = v;
                arg = i;
            }
            first = false;
        }
    }
    y[e] = best;
    argmax[e] = arg;
}
