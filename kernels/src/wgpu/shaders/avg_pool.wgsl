// Average pooling, forward and backward. Params: pool_params.wgsl.
//
// Forward: y[n, oh, ow, c] = (Σ of x over the valid cells of the window) / (number of valid
// cells): padded cells take no part, as in TensorFlow and cpu::pool. One thread per output.
//
// Backward as a gather: dx[n, ih, iw, c] = Σ over the windows that contain (ih, iw) of
// dy[window] / count(window), one thread per input element (the CPU scatters each window's share
// into its cells; a gather needs no atomics). Binding 1 is x or dy, binding 2 is y or dx.

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn avg_pool_forward_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
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
    var sum = 0.0;
    for (var ih = rows.x; ih < rows.y; ih++) {
        for (var iw = cols.x; iw < cols.y; iw++) {
            sum += src[((n * p.h + ih) * p.w + iw) * p.c + ch];
        }
    }
    dst[e] = sum / f32((rows.y - rows.x) * (cols.y - cols.x));
}

@compute @workgroup_size(256)
fn avg_pool_backward_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
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
        let wr = window_rows(oh);
        for (var ow = cols.x; ow < cols.y; ow++) {
            let wc = window_cols(ow);
            let count = f32((wr.y - wr.x) * (wc.y - wc.x));
            sum += src[((n * p.oh + oh) * p.ow + ow) * p.c + ch] / count;
        }
    }
    dst[e] = sum;
}
